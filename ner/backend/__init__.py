"""Process and backend tuning: ``allocator`` (glibc keeps freed memory), ``compile_cache`` (JAX's persistent
compilation cache), ``threads`` (the CPU threads the framework computes with), ``jax_kernels`` and ``tf_kernels``
(fast paths the layers and optimizers call on one backend)."""
