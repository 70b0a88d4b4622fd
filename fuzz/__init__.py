"""Coverage-guided fuzzing of the codecs with atheris: `make fuzz` (not part of `make test`)."""
