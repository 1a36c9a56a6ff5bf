"""The pieces of representation detachment (the paper's method); the registered method is methods/detachment.py.

- aux_networks: the decoder and projection heads that estimate I(h,x), I(h,y), I(h,z) on the split map h
- losses: supervised-contrastive loss, the bounded attribute term, BCE reconstruction
- objective: the extractor's auxiliary loss and the estimators' own loss for one batch
- batch_plan: the seeded order and flips of every step, drawn before training so threads cannot reorder them
- end_to_end / local_pipeline: the two training modes
"""
