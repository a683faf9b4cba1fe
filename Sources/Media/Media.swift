// The Media module of emopipe. Its parts live in the files beside this one.
