"""Engines that serve several bricks from one place (a server's API, not a brick's own code).

Each module registers its engine on every brick it serves when the registry discovers it,
after `bricks/`; bricks stay one small file each.
"""
