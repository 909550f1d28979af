"""Digital signatures with pyHanko: personal and agency keys, signing, sealing, digitising, verifying."""
