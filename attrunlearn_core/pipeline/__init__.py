"""One function per workflow step, taking explicit paths; workflow_scripts/ call these."""
