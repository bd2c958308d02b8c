"""The web console the node serves to officers, analysts and administrators."""
