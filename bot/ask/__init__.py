"""Q&A: answers to mentions and ``/ask`` from the group's reading (``bot.knowledge``).

``commands`` declares /ask, ``handler`` answers, ``feature.build`` puts it together."""
