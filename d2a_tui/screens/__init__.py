"""Screens: the board (home), a journey, the referral form, help and the small pickers."""
