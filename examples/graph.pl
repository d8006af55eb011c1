% Probabilistic reachability: each edge exists with the given probability.
0.6::edge(a,b).
0.5::edge(b,c).
0.2::edge(a,c).
0.3::edge(c,a).
0.7::edge(c,d).

path(X,Y) :- edge(X,Y).
path(X,Y) :- edge(X,Z), path(Z,Y).

% Which nodes can we reach from a, and how likely is a round trip?
query(path(a,_)).
