"""The review queue: things made for a reading (drafted discussion questions and poll claims; later,
members' suggestions) wait for a moderator to approve, edit or reject them.

One mechanism for every kind: a table (``review_items``), a service (:mod:`.queue`), the checks a
text must pass (:mod:`.checks`), the approved banks a channel draws from (:mod:`.banks`) and the
moderator's desk of buttons and forms (:mod:`.desk`). Features reach it through what the
composition root hands them; it imports no feature.
"""
