"""Localized fine-tuning of a foundation model for one reaction (H2 on Cu(111)).

The pipeline, one module per step:

- :mod:`umlip.finetune.sampling`: candidate configurations from the base model's own reactive
  MD, NEB path and relaxations of the target system (never from the validation suite's test
  structures), and nested training sets chosen from them (random or farthest-point);
- ``dft/finetune_labels.py``: GPAW single points of the chosen configurations with exactly
  the reference settings of the H/Cu(111) data (resumable; one JSON per configuration);
- :mod:`umlip.finetune.train`: the family's own trainer (SevenNet's fine-tune preset) on the
  labelled set, then ``umlip export`` of the result.
"""
