"""The rewards: one module per reward, the Reward protocol (base.py), the batch pipeline and the profiles."""
