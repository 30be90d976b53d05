"""calsync's code: the pure sync core, the Graph gateway and the table store."""
