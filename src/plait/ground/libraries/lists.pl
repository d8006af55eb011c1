% library(lists): the predicates of ProbLog 2.3's library(lists) that are written in
% Prolog there too (the rest are Python builtins of plait, see builtins.py).
% Adapted from ProbLog's lists.pl (Apache-2.0); helpers that ProbLog keeps private
% to its module carry a '$lists_' prefix here.

prefix(A, B) :- append(A, _, B).

selectchk(X, [X|T], T).
selectchk(X, [Y|T], [Y|S]) :- X \= Y, selectchk(X, T, S).

% as in ProbLog: the tails of the two lists are not related
select(X, [X|_], Y, [Y|_]).
select(X, [_|XList], Y, [_|YList]) :- select(X, XList, Y, YList).

selectchk(X, [X|_], Y, [Y|_]).
selectchk(X, [X1|XList], Y, [Y1|YList]) :- \+ (X1 = X, Y1 = Y), selectchk(X, XList, Y, YList).

nextto(X, Y, [X, Y|_]).
nextto(X, Y, [_|T]) :- nextto(X, Y, T).

delete([], _, []).
delete([H|T], Elem, [H|R]) :- Elem \= H, delete(T, Elem, R).
delete([H|T], Elem, R) :- \+ Elem \= H, delete(T, Elem, R).

nth0(0, [X|L], X, L).
nth0(I, [Y|L], X, [Y|R]) :- length(L, Len), between(1, Len, I), J is I - 1, nth0(J, L, X, R).
nth1(I, L, X, R) :- J is I - 1, nth0(J, L, X, R).

proper_length(List, Length) :- is_list(List), length(List, Length).
same_length(List1, List2) :- length(List1, L), length(List2, L).

flatten(In, Out) :- '$lists_flatten'(In, [], Out).
'$lists_flatten'([], Acc, Acc).
'$lists_flatten'([H|T], Acc, List) :- '$lists_flatten'(H, Acc, Acc1), '$lists_flatten'(T, Acc1, List).
'$lists_flatten'(H, Acc, List) :- \+ is_list(H), append(Acc, [H], List).

is_set(List) :- sort(List, Set), same_length(List, Set).

intersection([], _, []).
intersection([X|T], Set2, [X|R]) :- memberchk(X, Set2), intersection(T, Set2, R).
intersection([X|T], Set2, R) :- \+ memberchk(X, Set2), intersection(T, Set2, R).

union([], Set2, Set2).
union([X|T], Set2, R) :- memberchk(X, Set2), union(T, Set2, R).
union([X|T], Set2, [X|R]) :- \+ memberchk(X, Set2), union(T, Set2, R).

subset([], _).
subset([X|T], Set) :- memberchk(X, Set), subset(T, Set).

subtract([], _, []).
subtract([X|T], Delete, R) :- memberchk(X, Delete), subtract(T, Delete, R).
subtract([X|T], Delete, [X|R]) :- \+ memberchk(X, Delete), subtract(T, Delete, R).

% select_uniform(ID, Values, Value, Rest): Value is one of Values, each with the same
% probability; Rest is the others. Calls with the same ID and list make the same choice.
select_uniform(ID, Values, Value, Rest) :-
    length(Values, Len),
    Len > 0,
    Weight is 1 / Len,
    '$lists_make_list'(Len, Weight, Weights),
    select_weighted(ID, Weights, Values, Value, Rest).

% select_weighted(ID, Weights, Values, Value, Rest): Value is one of Values, chosen with
% probability proportional to its weight; a chain of coins as in ProbLog.
select_weighted(ID, Weights, Values, Value, Rest) :-
    sum_list(Weights, Total),
    Total > 0,
    '$lists_sw'(ID, Total, Weights, Values, Value, Rest).
select_weighted(ID, WeightsValues, Value, Rest) :-
    '$lists_unzip'(WeightsValues, Weights, Values),
    select_weighted(ID, Weights, Values, Value, Rest).

P::'$lists_sw_p'(ID, P, _, _, _).
% the last value is selected when no other is (no coin: avoids numerical instabilities)
'$lists_sw'(_, _, [_|_], [X|[]], X, []).
'$lists_sw'(ID, PW, [W|WT], [X|XT], X, XT) :-
    XT \= [],
    W1 is W / PW,
    '$lists_sw_p'(ID, W1, WT, X, XT).
'$lists_sw'(ID, PW, [W|WT], [X|XT], Y, [X|RT]) :-
    XT \= [],
    W1 is W / PW,
    \+ '$lists_sw_p'(ID, W1, WT, X, XT),
    PW1 is PW - W,
    '$lists_sw'(ID, PW1, WT, XT, Y, RT).

'$lists_unzip'([], [], []).
'$lists_unzip'([(X, Y)|T], [X|R], [Y|S]) :- '$lists_unzip'(T, R, S).

'$lists_make_list'(0, _, []).
'$lists_make_list'(Len, X, [X|L]) :- Len > 0, Len1 is Len - 1, '$lists_make_list'(Len1, X, L).
