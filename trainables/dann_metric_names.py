"""Metric names of the DANN families (phase 1: moved into trainables/metric_names.py on integration).

Accuracies are fractions in [0, 1]. The domain classifier predicts P(target); its accuracy is
measured on equal numbers of held-out source and target examples (0.5: the features hide the domain).
"""

SOURCE_ACC = "source_acc"  # label accuracy on the source test split
TARGET_VAL_ACC = "target_val_acc"  # label accuracy on the labelled target validation split: the study metric
TARGET_TEST_ACC = "target_test_acc"  # label accuracy on the target test split: reported, never selected on
DOMAIN_ACC = "domain_acc"  # domain classifier accuracy, source held-out vs target validation, equal numbers
LABEL_LOSS = "label_loss"  # mean source cross-entropy over the report's training steps
DOMAIN_LOSS = "domain_loss"  # mean domain logistic loss over the report's training steps (both domains)
LAMBDA_P = "lambda_p"  # the gradient reversal's strength at the end of the report
LR_P = "lr_p"  # the learning rate at the end of the report
TARGET_ONLY_VAL_ACC = "target_only_val_acc"  # the train-on-target upper bound (trained once per study)
TARGET_ONLY_TEST_ACC = "target_only_test_acc"

DANN_METRICS = (SOURCE_ACC, TARGET_VAL_ACC, TARGET_TEST_ACC, DOMAIN_ACC, LABEL_LOSS, DOMAIN_LOSS, LAMBDA_P, LR_P,
                TARGET_ONLY_VAL_ACC, TARGET_ONLY_TEST_ACC)
