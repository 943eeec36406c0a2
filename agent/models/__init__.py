"""Local model loading: the generator and the encoder (offline, verified, cached).

Importing this package switches the Hugging Face libraries to offline mode before any of them
is imported, so no code path can reach the network.
"""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
