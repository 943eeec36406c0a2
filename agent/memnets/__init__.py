"""Trainable memory networks (MemN2N, KV-MemNN, DNC) and their bAbI data.

Research code for issue 7: nothing in the chat path imports this package.
"""
