% Friends and smokers: stress makes people smoke, friends influence each other.
% The friendship graph has cycles; plait handles them exactly.
person(ann). person(bob). person(carl). person(dan).
friend(ann, bob). friend(bob, ann). friend(bob, carl). friend(carl, dan). friend(dan, bob).

0.3::stress(X) :- person(X).
0.2::influences(X, Y) :- friend(X, Y).

smokes(X) :- stress(X).
smokes(X) :- friend(X, Y), influences(Y, X), smokes(Y).
0.4::asthma(X) :- smokes(X).

evidence(smokes(bob), true).
query(smokes(X)) :- person(X).
query(asthma(ann)).
