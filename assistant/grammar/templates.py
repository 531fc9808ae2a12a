"""Which hassil templates the grammar is compiled from.

"full": exactly the templates the local intents match with (Home Assistant's English sentences
and this project's, ``assistant.brain.intents``). "speech_to_phrase": Home Assistant's own
constrained subset for its closed-vocabulary recognizer (home-assistant-intents ships it beside
the full set), with this project's sentences (``data/sentences_en.yaml``, ``intents.extra_
sentences``) and the grammar's own few (``grammar/sentences_en.yaml``: "set the lamp to forty
percent", "turn the fan off") merged in the same way; fewer ways of saying each command, so
fewer sentences for speech that is not a command to be forced onto.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from hassil import Intents

from assistant.config import IntentsConfig
from assistant.errors import AssistantError

Templates = Literal["speech_to_phrase", "full"]
_HERE = Path(__file__).resolve().parent


def load_templates(settings: IntentsConfig, source: Templates) -> Intents:
    # The loaders' private helpers are reused so that both sources merge extras one way.
    from assistant.brain.intents import _DATA, _drop_floor_sentences, _load_intents, _merge

    if source == "full":
        return _load_intents(settings)
    from home_assistant_intents import get_speech_to_phrase_intents

    data = get_speech_to_phrase_intents(settings.language)
    if data is None:
        raise AssistantError(f"home-assistant-intents has no Speech-to-Phrase sentences for "
                             f"{settings.language!r}: set stt.grammar_templates to full")
    extras: list[dict[str, Any]] = []
    for builtin in (_DATA / f"sentences_{settings.language}.yaml",
                    _HERE / f"sentences_{settings.language}.yaml"):
        if builtin.is_file():
            extras.append(yaml.safe_load(builtin.read_text(encoding="utf-8")))
    if settings.extra_sentences:
        path = Path(settings.extra_sentences).expanduser()
        try:
            extras.append(yaml.safe_load(path.read_text(encoding="utf-8")))
        except (OSError, yaml.YAMLError) as exc:
            raise AssistantError(f"cannot read intents.extra_sentences {path}: {exc}") from exc
    for extra in extras:
        _merge(data, extra or {})
    _drop_floor_sentences(data)
    return Intents.from_dict(data)
