"""Running agent turns: one child process per run, streamed, queued per thread, interruptible."""
