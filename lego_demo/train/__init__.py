"""The Builder training recipe (docs/TRAINING.md): rows from the registry's bricks and the rule
Builder (`data`), GT-free rewards (`rewards`), and the paper's three stages on a Qwen2.5-VL
Builder with TRL (`trainers`): SFT on targets, GRPO on rows with targets, GRPO on open-domain
rows with the critic as the judge. Importing this package imports no torch/trl/peft."""
