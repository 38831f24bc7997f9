"""The provincial platform (LGSP): routes inside the province, forwards the rest to NGSP."""
