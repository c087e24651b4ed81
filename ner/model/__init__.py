"""The Keras tagger: ``network`` (build it), ``optimizers`` (what it is compiled with), ``predict`` (tag ids
and tag strings), ``arrays`` (its weights for the numpy runtime). Importing a module here imports Keras;
this package file does not."""

HEADS = ("softmax", "crf")   # the output layers a tagger can have
