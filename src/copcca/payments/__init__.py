"""Money coming in from mobile money and card providers: push requests,
callbacks checked with the provider, and exactly-once settlement."""
