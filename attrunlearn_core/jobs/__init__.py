"""One function per workflow job, named after its rule and taking explicit paths; workflow_scripts/ call these."""
