% library(cut) of ProbLog 2.3 (Apache-2.0): a cut over indexed clauses.
% cut(r(A, B)) tries the clauses r(I, A, B) in the order of their index I (the standard
% order of terms, not the order in the file) and succeeds with the first one that does;
% cut(r(A, B), I) also tells which index that was.

cut(Call) :-
    Call =.. [Pred|Args],
    RCall =.. [Pred, Index|Args],
    all(Index, clause(RCall, _), List),
    sort(List, OList),
    '$cut'(RCall, Index, OList, Call).

cut(Call, Index) :-
    Call =.. [Pred|Args],
    RCall =.. [Pred, Index|Args],
    all(Index, clause(RCall, _), List),
    sort(List, OList),
    '$cut'(RCall, Index, OList, Call).

'$cut'(RCall, Index, [Index|_], _) :- call(RCall).
'$cut'(RCall, Index, [Value|Rest], Call) :-
    \+ (Value = Index, call(RCall)),
    '$cut'(RCall, Index, Rest, Call).
