"""The answer path of a chat turn: a question about the user or the past is answered from the
memories read (a short span, cited, or "not mentioned"); any other message goes to the
generator with the preferences and a few memories."""
