% Two fair dice as annotated disjunctions, arithmetic and negation.
1/6::die(D, 1); 1/6::die(D, 2); 1/6::die(D, 3); 1/6::die(D, 4); 1/6::die(D, 5); 1/6::die(D, 6) :- dice(D).
dice(first). dice(second).

sum(S) :- die(first, A), die(second, B), S is A + B.
double :- die(first, X), die(second, X).
no_six :- \+ die(first, 6), \+ die(second, 6).

query(sum(7)).
query(double).
query(no_six).
