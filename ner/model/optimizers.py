"""Keras' Adam and SGD, with each variable's update fused into one kernel on TensorFlow.

Keras runs an optimizer update as about a dozen element-wise ops per variable; graph-mode TensorFlow
executes them one by one, each a full pass over the variable, which for a 20,000 x 100 word embedding
costs more than the rest of the update. Here each variable's update is one TensorFlow kernel
(``bench/updates.py`` times one update of each optimizer). JAX fuses the ops itself: there, on PyTorch and
under XLA, these are Keras' classes unchanged. The formulas are Keras' own
(``ner.backend.tf_kernels``); ``tests/test_optimizers.py`` checks equal updates. One difference on TensorFlow: for
a sparse gradient with a repeated id (a word twice in a batch), Keras squares each occurrence's gradient
before summing them, the fused Adam squares the sum, as JAX does and as Adam is defined.
"""

import keras


def _fused() -> bool:
    if keras.backend.backend() != "tensorflow":
        return False
    from ner.backend import tf_kernels

    return not tf_kernels.in_xla()


def _tf_variable(v):
    return v.value if isinstance(v, keras.Variable) else v


@keras.saving.register_keras_serializable(package="ner")
class Adam(keras.optimizers.Adam):
    """``keras.optimizers.Adam`` (same arguments; results as noted above); fused update on TensorFlow without XLA."""

    def update_step(self, gradient, variable, learning_rate):
        if self.amsgrad or not _fused():
            return super().update_step(gradient, variable, learning_rate)
        from ner.backend import tf_kernels

        index = self._get_variable_index(variable)
        tf_kernels.apply_adam(_tf_variable(variable), _tf_variable(self._momentums[index]),
                              _tf_variable(self._velocities[index]), gradient, learning_rate, self.beta_1,
                              self.beta_2, self.epsilon, self.iterations + 1)


@keras.saving.register_keras_serializable(package="ner")
class SGD(keras.optimizers.SGD):
    """``keras.optimizers.SGD`` (same arguments and results); fused momentum update on TensorFlow without XLA."""

    def update_step(self, gradient, variable, learning_rate):
        if self.momentum == 0 or not _fused():
            return super().update_step(gradient, variable, learning_rate)
        from ner.backend import tf_kernels

        buffer = self.momentums[self._get_variable_index(variable)]
        tf_kernels.apply_momentum(_tf_variable(variable), _tf_variable(buffer), gradient, learning_rate,
                                  self.momentum, self.nesterov)
