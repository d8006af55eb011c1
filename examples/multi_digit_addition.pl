% Sum of two N-digit numbers, digit by digit with a carry, so that exact
% inference stays linear in N (the direct program enumerates 10^(2N) pairs).
% Lists hold the least significant digit first. The observed digits of the sum
% enter as inputs too: `observed` is a "network" that returns the one-hot
% encoding of a given digit, so one compiled circuit serves every example and
% P(sum_ok) is exactly the probability that the two numbers add up to the
% observed sum.
nn(digit_net, [X], Y, [0..9]) :: digit(X, Y).
nn(observed, [S], D, [0..9]) :: sum_digit(S, D).

add([], [], [S], Carry) :- sum_digit(S, Carry).
add([A|As], [B|Bs], [S|Ss], Carry) :-
    digit(A, DA), digit(B, DB),
    T is DA + DB + Carry, D is T mod 10, Carry1 is T // 10,
    sum_digit(S, D),
    add(As, Bs, Ss, Carry1).

sum_ok(As, Bs, Ss) :- add(As, Bs, Ss, 0).
