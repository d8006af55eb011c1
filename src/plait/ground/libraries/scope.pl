% library(scope) of ProbLog 2.3 (Apache-2.0): Scope:Goal also holds for conjunctions,
% for lists of scopes (in any order), and for goals that hold outside any scope.

C:R :- nonvar(R), R = (A, B), C:A, C:B.
C:R :- nonvar(C), C = [C1|_], C1:R.
C:R :- nonvar(C), \+ is_list(C), [C]:R.
List:Predicate :- nonvar(List), select(X, List, R), [X|R]:Predicate.
_:Pred :- nonvar(Pred), try_call(Pred).
