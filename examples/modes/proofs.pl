% Why can we get from a to c? (plait explain)
0.6::edge(a,b).
0.5::edge(b,c).
0.2::edge(a,c).

path(X,Y) :- edge(X,Y).
path(X,Y) :- edge(X,Z), path(Z,Y).

query(path(a,c)).
