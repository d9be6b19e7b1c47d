"""Classical scikit-learn references: what a cheap, well-known model scores on the same
train and test split as the Keras model.

One module per input kind registers the reference of the loaders it reads
(`@register_reference("texts", "code")`); `registry.run_reference` fits it on the train
split and scores it on the test split with the metric the Keras model is judged by.
`label_issues` uses the same references, cross-validated on the train split, to find
likely mislabeled training files (cleanlab). scikit-learn and cleanlab are imported
only when a reference runs.
"""
