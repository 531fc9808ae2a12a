from assistant.wake.legacy import *  # noqa: F401,F403  (temporary)
from assistant.wake.legacy import _phrase_at, _sound  # noqa: F401
