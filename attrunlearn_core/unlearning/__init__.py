"""Building blocks that unlearning methods share: adversarial examples, weight importance, gradient reversal."""
