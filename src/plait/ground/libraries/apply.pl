% library(apply) of ProbLog 2.3 (Apache-2.0). maplist/2..5 are Python builtins of plait.

include(_, [], []).
include(P, [X|T], [X|S]) :- call(P, X), include(P, T, S).
include(P, [X|T], S) :- \+ call(P, X), include(P, T, S).

exclude(_, [], []).
exclude(P, [X|T], [X|S]) :- \+ call(P, X), exclude(P, T, S).
exclude(P, [X|T], S) :- call(P, X), exclude(P, T, S).

partition(_, [], [], []).
partition(P, [X|R], [X|S], T) :- call(P, X), partition(P, R, S, T).
partition(P, [X|R], S, [X|T]) :- \+ call(P, X), partition(P, R, S, T).

partition(_, [], [], [], []).
partition(P, [X|R], [X|S], T, U) :- call(P, X, <), partition(P, R, S, T, U).
partition(P, [X|R], S, [X|T], U) :- call(P, X, =), partition(P, R, S, T, U).
partition(P, [X|R], S, T, [X|U]) :- call(P, X, >), partition(P, R, S, T, U).

convlist(_, [], []).
convlist(P, [A|S], [B|T]) :- call(P, A, B), convlist(P, S, T).
convlist(P, [A|S], T) :- \+ call(P, A, _), convlist(P, S, T).

foldl(_, [], RR, RR).
foldl(P, [L1|LR], L0, RR) :- call(P, L1, L0, R), foldl(P, LR, R, RR).

foldl(_, [], [], RR, RR).
foldl(P, [L1|LR1], [L2|LR2], L0, RR) :- call(P, L1, L2, L0, R), foldl(P, LR1, LR2, R, RR).

foldl(_, [], [], [], RR, RR).
foldl(P, [L1|LR1], [L2|LR2], [L3|LR3], L0, RR) :-
    call(P, L1, L2, L3, L0, R), foldl(P, LR1, LR2, LR3, R, RR).

foldl(_, [], [], [], [], RR, RR).
foldl(P, [L1|LR1], [L2|LR2], [L3|LR3], [L4|LR4], L0, RR) :-
    call(P, L1, L2, L3, L4, L0, R), foldl(P, LR1, LR2, LR3, LR4, R, RR).

foldl_noinit(_, [], []).
foldl_noinit(P, [L1|LR], RR) :- foldl(P, LR, L1, RR).

scanl(_, [], _, []).
scanl(P, [L1|LR], L0, [R|RR]) :- call(P, L1, L0, R), scanl(P, LR, R, RR).

scanl(_, [], [], _, []).
scanl(P, [L1|LR1], [L2|LR2], L0, [R|RR]) :- call(P, L1, L2, L0, R), scanl(P, LR1, LR2, R, RR).

scanl(_, [], [], [], _, []).
scanl(P, [L1|LR1], [L2|LR2], [L3|LR3], L0, [R|RR]) :-
    call(P, L1, L2, L3, L0, R), scanl(P, LR1, LR2, LR3, R, RR).

scanl(_, [], [], [], [], _, []).
scanl(P, [L1|LR1], [L2|LR2], [L3|LR3], [L4|LR4], L0, [R|RR]) :-
    call(P, L1, L2, L3, L4, L0, R), scanl(P, LR1, LR2, LR3, LR4, R, RR).
