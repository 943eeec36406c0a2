"""The app's screens: chat, memory inspector, profiles, help, model loading."""
