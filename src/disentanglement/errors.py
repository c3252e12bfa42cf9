"""The one exception type the command line turns into a one-line message (exit code 2)."""


class UserError(Exception):
    """A mistake in the user's input: the message says what is wrong and how to mend it."""
