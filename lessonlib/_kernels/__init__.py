"""Fast kernels that only serve speed, out of the learner's way.

Nothing here is taught: each kernel computes exactly what a readable function elsewhere computes
(the public function that calls it names the reference it equals), only faster on a CPU or a GPU.
A learner reads ``lessonlib.reference`` and the public modules; a maintainer reads these.
"""
