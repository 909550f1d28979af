"""Working days, Vietnamese public holidays and make-up days, cut-offs."""
