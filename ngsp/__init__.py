"""The national platform (NGSP): routes to national back ends, connects provincial platforms."""
