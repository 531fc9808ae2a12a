"""Understanding and answering: local intents, LLMs, and the one executor they share."""
