"""Adam whose TensorFlow update is one fused kernel per variable: Keras' Adam, the same maths, fewer passes."""

import keras


@keras.saving.register_keras_serializable(package="ner")
class FusedAdam(keras.optimizers.Adam):
    """``keras.optimizers.Adam`` with, on TensorFlow, one ``ResourceApplyAdam`` kernel per variable.

    Keras' update runs about ten element-wise ops per variable, each a pass over it (TensorFlow without XLA
    does not fuse them); the 2M-entry word embedding makes those passes a large part of a CPU training
    step. The fused kernel computes the same m, v and variable updates (m += (g - m)(1 - beta_1),
    v += (g^2 - v)(1 - beta_2), variable -= alpha m / (sqrt(v) + epsilon)) with one difference: the rows of
    a sparse (embedding) gradient that name the same word are summed before g^2, as in textbook Adam and
    in Keras' Adam on JAX; Keras' TensorFlow Adam squares them one by one. JAX compiles Keras' update into
    the training step and fuses it already; other backends and ``amsgrad`` use Keras' update.
    """

    def update_step(self, gradient, variable, learning_rate):
        if keras.backend.backend() != "tensorflow" or self.amsgrad:
            return super().update_step(gradient, variable, learning_rate)
        import tensorflow as tf

        index = self._get_variable_index(variable)
        m, v = self._momentums[index].value, self._velocities[index].value
        dtype = variable.dtype
        step = tf.cast(self.iterations + 1, dtype)
        beta_1, beta_2 = tf.cast(self.beta_1, dtype), tf.cast(self.beta_2, dtype)
        tf.raw_ops.ResourceApplyAdam(
            var=variable.handle, m=m.handle, v=v.handle, beta1_power=beta_1 ** step, beta2_power=beta_2 ** step,
            lr=tf.cast(learning_rate, dtype), beta1=beta_1, beta2=beta_2, epsilon=tf.cast(self.epsilon, dtype),
            grad=tf.cast(tf.convert_to_tensor(gradient), dtype))
