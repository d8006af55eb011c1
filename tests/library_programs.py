"""Programs that exercise ProbLog's libraries, by library area (data for test_library.py).

Each is run by ProbLog 2.3 and by plait; the answers (names and probabilities) must agree.
"""

from __future__ import annotations

LISTS = [
    # select_uniform with probabilistic facts, and the rest list
    """:- use_module(library(lists)).
0.4::p(a). 0.5::p(b). 0.3::p(c).
q(X) :- select_uniform(id1, [a,b,c], X, _), p(X).
r(X, R) :- select_uniform(id2, [a,b,c], X, R).
query(q(_)). query(r(_, _)).""",
    # the same id and list: the same choice; another id: an independent one
    """:- use_module(library(lists)).
same(X, Y) :- select_uniform(u, [1,2,3], X, _), select_uniform(u, [1,2,3], Y, _).
indep(X, Y) :- select_uniform(u, [1,2], X, _), select_uniform(v, [1,2], Y, _).
query(same(_,_)). query(indep(_,_)).""",
    """:- use_module(library(lists)).
s(X) :- select_weighted(w, [0.2, 0.5, 0.3], [x, y, z], X, _).
t(X, R) :- select_weighted(w2, [1-a, 3-b, 0-c], X, R).
z(X) :- select_weighted(w3, [0, 0], [a, b], X, _).
query(s(_)). query(t(_,_)). query(z(_)).""",
    """:- use_module(library(lists)).
0.5::hot.
w(W) :- hot, W = [3, 1].
w(W) :- \\+ hot, W = [1, 3].
pick(X) :- w(W), select_weighted(d, W, [sun, rain], X, _).
query(pick(_)).""",
    """:- use_module(library(lists)).
q1(X) :- prefix(X, [1,2]).
q2(R) :- selectchk(b, [a,b,c,b], R).
q4(R) :- delete([a,b,a,c], a, R).
q5(X, R) :- nth0(1, [a,b,c], X, R).
q6(X, R) :- nth1(2, [a,b,c], X, R).
q7(L) :- flatten([1,[2,[3,4]],[],5], L).
q8 :- is_set([a,b,c]).
q9 :- is_set([a,b,a]).
query(q1(_)). query(q2(_)). query(q4(_)). query(q5(_,_)). query(q6(_,_)). query(q7(_)).
query(q8). query(q9).""",
    """:- use_module(library(lists)).
i(X) :- intersection([a,b,c,d], [d,b,e], X).
u(X) :- union([a,b], [b,c], X).
s(X) :- subtract([a,b,c], [b], X).
sub :- subset([a,c], [c,b,a]).
nsub :- subset([a,x], [c,b,a]).
n(X, Y) :- nextto(X, Y, [1,2,3]).
pl(N) :- proper_length([a,b], N).
sl :- same_length([1,2], [a,b]).
query(i(_)). query(u(_)). query(s(_)). query(sub). query(nsub). query(n(_,_)). query(pl(_)). query(sl).""",
    """:- use_module(library(lists)).
e(G, V) :- enum_groups([(a,1),(b,2),(a,3)], G, V).
e4(G, V) :- enum_groups([a,b,a], [1,2,3], G, V).
f(V) :- enum_groups([a-1,b-2,a-3], b, V).
query(e(_,_)). query(e4(_,_)). query(f(_)).""",
    """:- use_module(library(lists)).
0.3::p(1). 0.6::p(2). 0.5::p(3).
ok(L) :- findall(X, p(X), L), sum_list(L, S), S >= 3.
m(M) :- findall(X, p(X), L), max_list(L, M).
query(ok(_)). query(m(_)).""",
    # list predicates fail on arguments that are not lists, as ProbLog's clauses do
    """:- use_module(library(lists)).
a(X) :- member(X, foo).
b(X) :- reverse(foo, X).
c(L) :- append([a], [b], L), last(L, b).
d(X) :- select(X, foo, _).
e :- sum_list(foo, _).
query(a(_)). query(b(_)). query(c(_)). query(d(_)). query(e).""",
    """:- use_module(library(lists)).
0.5::in(a). 0.5::in(b). 0.5::in(c).
chosen(L) :- findall(X, in(X), L).
both :- chosen(L), subset([a, b], L).
none_of_c :- chosen(L), \\+ memberchk(c, L).
count(N) :- chosen(L), length(L, N).
query(both). query(none_of_c). query(count(_)).""",
    """:- use_module(library(lists)).
perm(P) :- permutation([1,2,3], P), nth1(1, P, 2).
num(L) :- numlist(2, 5, L).
rev(R) :- reverse([1,2,3], R).
l2s(S) :- list_to_set([a,b,a,c,b], S).
query(perm(_)). query(num(_)). query(rev(_)). query(l2s(_)).""",
]

APPLY = [
    """:- use_module(library(apply)).
0.2::p(1). 0.7::p(2). 0.5::p(3).
add(X, A, B) :- B is A + X.
s(S) :- foldl(add, [1,2,3], 0, S).
big(X) :- p(X), X > 1.
inc(L) :- include(big, [1,2,3], L).
exc(L) :- exclude(big, [1,2,3], L).
query(s(_)). query(inc(_)). query(exc(_)).""",
    """:- use_module(library(apply)).
0.4::good(a). 0.9::good(b).
pt(I, E) :- partition(good, [a,b], I, E).
query(pt(_,_)).""",
    """:- use_module(library(apply)).
cmp(X, <) :- X < 2.
cmp(X, =) :- X =:= 2.
cmp(X, >) :- X > 2.
p5(L, E, G) :- partition(cmp, [1,2,3,2], L, E, G).
query(p5(_,_,_)).""",
    """:- use_module(library(apply)).
0.5::c(1). 0.5::c(2).
dbl(X, Y) :- c(X), Y is 2 * X.
cl(L) :- convlist(dbl, [1,2,3], L).
sc(L) :- scanl(plus, [1,2,3], 0, L).
mul(X, Y, A, B) :- B is A + X * Y.
f5(R) :- foldl(mul, [1,2], [3,4], 0, R).
ni(R) :- foldl_noinit(plus, [1,2,3], R).
query(cl(_)). query(sc(_)). query(f5(_)). query(ni(_)).""",
    # foldl over probabilistic facts: the number of heads
    """:- use_module(library(apply)).
0.3::coin(h1). 0.6::coin(h2). 0.5::coin(h3).
heads(C, A, B) :- coin(C), B is A + 1.
heads(C, A, A) :- \\+ coin(C).
n(N) :- foldl(heads, [h1,h2,h3], 0, N).
query(n(_)).""",
    """:- use_module(library(apply)).
0.3::coin(h1). 0.6::coin(h2).
heads(C, A, B) :- coin(C), B is A + 1.
heads(C, A, A) :- \\+ coin(C).
m(L) :- maplist(heads, [h1,h2], [0,0], L).
all_heads :- maplist(coin, [h1, h2]).
query(m(_)). query(all_heads).""",
    """:- use_module(library(apply)).
s3(A, B, C, X, Y) :- Y is X + A * B * C.
s4(A, B, C, D, X, Y) :- Y is X + A + B + C + D.
f6(R) :- foldl(s3, [1,2], [3,4], [5,6], 0, R).
f7(R) :- foldl(s4, [1], [2], [3], [4], 0, R).
sc5(L) :- scanl(s3, [1,2], [3,4], [5,6], 0, L).
query(f6(_)). query(f7(_)). query(sc5(_)).""",
    """:- use_module(library(apply)).
0.5::ok(1). 0.5::ok(2). 0.5::ok(3).
step(X, A, B) :- ok(X), B is A + X.
total(T) :- foldl(step, [1,2,3], 0, T).
query(total(_)).""",
    """:- use_module(library(apply)).
0.6::edge(a, b). 0.7::edge(b, c).
pair(X-Y) :- edge(X, Y).
path_ok :- maplist(pair, [a-b, b-c]).
query(path_ok).""",
    """:- use_module(library(apply)).
:- use_module(library(lists)).
0.5::w(1). 0.5::w(2).
keep(X) :- w(X).
sumkept(S) :- include(keep, [1,2], L), sum_list(L, S).
query(sumkept(_)).""",
]

AGGREGATE = [
    """:- use_module(library(aggregate)).
0.5::p(a, 1). 0.5::p(a, 3). 0.8::p(b, 5).
q(G, R) :- aggregate(sum, V, G, p(G, V), (G, R)).
m(G, R) :- aggregate(max, V, G, p(G, V), (G, R)).
query(q(_,_)). query(m(_,_)).""",
    """:- use_module(library(aggregate)).
0.5::p(a, 1). 0.5::p(a, 3). 0.8::p(b, 5).
q(G, R) :- aggregate(avg, V, G, p(G, V), (G, R)).
m(G, R) :- aggregate(min, V, G, p(G, V), (G, R)).
query(q(_,_)). query(m(_,_)).""",
    """:- use_module(library(aggregate)).
s(R) :- aggregate(sum, X, [], between(1, 4, X), ([], R)).
a(R) :- aggregate(avg, X, [], between(1, 4, X), ([], R)).
query(s(_)). query(a(_)).""",
    # the aggregate head syntax, over probabilistic facts
    """:- use_module(library(aggregate)).
0.5::p(a, 1). 0.5::p(a, 3). 0.8::p(b, 5). p(b, 2).
s(G, sum<V>) :- p(G, V).
query(s(_, _)).""",
    """:- use_module(library(aggregate)).
0.3::stock(apple, 4). 0.6::stock(pear, 2). stock(plum, 7).
most(max<N>) :- stock(_, N).
least(min<N>) :- stock(_, N).
query(most(_)). query(least(_)).""",
    """:- use_module(library(aggregate)).
0.5::score(ann, m, 10). 0.5::score(bob, m, 20). score(cid, f, 30). 0.2::score(dee, f, 10).
mean(S, avg<X>) :- score(_, S, X).
query(mean(_, _)). query(mean(m, 15.0)).""",
    """:- use_module(library(aggregate)).
sal(a, d1, 10). sal(b, d1, 20). sal(c, d2, 30).
s1:tot(D, sum<X>) :- sal(_, D, X).
query(s1:tot(_, _)).""",
    """:- use_module(library(aggregate)).
e(a, 1). e(a, 2). e(b, 3).
0.5::on(a). 0.5::on(b).
out(N, max<M>) :- e(N, M), on(N).
query(out(_, _)).""",
    """:- use_module(library(aggregate)).
w(1, 2.5). w(2, 3.5).
t(sum < X >) :- w(_, X).
query(t(_)).""",
    """:- use_module(library(aggregate)).
l(L, S) :- avg(L, S).
t :- sum([1, 2, 3], 6), max([3, 1, 2], 3), min([3, 1, 2], 1).
query(l([1, 2], _)). query(t).""",
]

COLLECT = [
    """:- use_module(library(collect)).
0.5::p(a, 1). 0.5::p(a, 2). 0.8::p(b, 5).
l(G, L) :- '=>'(p(G, V), G/list(V, L)).
query(l(_,_)).""",
    """:- use_module(library(collect)).
0.6::likes(ann, tea). 0.3::likes(bob, tea). likes(bob, coffee).
drinks(D, L) :- likes(P, D) => D/list(P, L).
query(drinks(_, _)).""",
    """:- use_module(library(collect)).
p(1). p(2). p(3). p(4).
collect_evens(CB, none, X, L) :- findall(X, (CB, X mod 2 =:= 0), L).
ev(L) :- p(X) => evens(X, L).
query(ev(_)).""",
    """:- use_module(library(collect)).
0.5::t(1). 0.5::t(2).
none_or_list(L) :- t(X) => list(X, L).
query(none_or_list(_)).""",
    """:- use_module(library(collect)).
p(a, 1). p(b, 2). p(a, 3).
all_v(L) :- '=>'(p(_, V), list(V, L)).
query(all_v(_)).""",
    """:- use_module(library(collect)).
0.4::p(1). 0.7::p(2).
collect_total(CB, none, X, T) :- findall(X, CB, L), sum_list(L, T).
t(T) :- '=>'(p(X), total(X, T)).
query(t(_)).""",
    """:- use_module(library(collect)).
p(1). p(2). p(3).
collect_first(CB, G, X, F) :- findall(X, CB, [F|_]).
f(F) :- '=>'(p(X), none/first(X, F)).
query(f(_)).""",
    """:- use_module(library(collect)).
0.5::p(a, 1). 0.5::p(a, 2). 0.8::p(b, 5).
l(G, L) :- p(G, V) => G/list(V, L).
all(L) :- (p(_, V), V > 1) => list(V, L).
query(l(_, _)). query(all(_)).""",
    """:- use_module(library(collect)).
:- use_module(library(lists)).
0.5::item(a, 3). 0.5::item(b, 4). item(c, 5).
collect_sum(CB, G, X, S) :- all_or_none((G, X), CB, L), findall(V, member((G, V), L), Vs), sum_list(Vs, S).
total(S) :- item(_, W) => sum(W, S).
query(total(_)).""",
    """:- use_module(library(collect)).
:- use_module(library(aggregate)).
0.5::sal(a, d1, 10). 0.5::sal(b, d1, 20). sal(c, d2, 30).
collect_avg(CB, G, X, R) :- aggregate(avg, X, G, CB, (G, R)).
avg_sal(D, A) :- '=>'(sal(_, D, S), D/avg(S, A)).
query(avg_sal(_, _)).""",
]

CUT = [
    """:- use_module(library(cut)).
0.4::ok(1).
r(1, X, a) :- ok(X).
r(2, _, b).
t(Y) :- cut(r(1, Y)).
u(Y, I) :- cut(r(1, Y), I).
query(t(_)). query(u(_,_)).""",
    """:- use_module(library(cut)).
0.3::w(a). 0.6::w(b).
rule(1, X) :- w(X), X = a.
rule(2, X) :- w(X).
rule(3, c).
pick(X) :- cut(rule(X)).
query(pick(a)). query(pick(b)). query(pick(c)).""",
    # the order is that of the index, not of the file
    """:- use_module(library(cut)).
r(3, c).
r(1, a).
r(2, b).
first(X) :- cut(r(X)).
query(first(_)).""",
    """:- use_module(library(cut)).
0.5::rain.
weather(1, wet) :- rain.
weather(2, dry).
w(X) :- cut(weather(X)).
query(w(wet)). query(w(dry)).""",
    """:- use_module(library(cut)).
0.5::a. 0.5::b.
r(1, x) :- a.
r(2, x) :- b.
r(3, y).
q(V) :- cut(r(V)).
query(q(x)). query(q(y)).""",
    """:- use_module(library(cut)).
m(1, X, Y, Z) :- X =< Y, Z = Y.
m(2, X, _, X).
ism(X, Y, Z) :- cut(m(X, Y, Z)).
query(ism(2, 3, _)). query(ism(6, 1, _)).""",
    """:- use_module(library(cut)).
0.2::f(1). 0.9::f(2).
c(1, X) :- f(X).
c(2, X) :- member(X, [1, 2]).
first(X) :- cut(c(X)).
:- use_module(library(lists)).
query(first(1)). query(first(2)).""",
    """:- use_module(library(cut)).
class(1, bird, X) :- X = penguin, fail.
class(2, bird, tweety).
class(3, fish, nemo).
who(C, X) :- cut(class(C, X)).
query(who(bird, _)). query(who(fish, _)).""",
    """:- use_module(library(cut)).
0.7::sensor(on).
state(1, alarm) :- sensor(on).
state(2, quiet).
now(S) :- cut(state(S)).
both :- now(alarm), now(quiet).
query(now(alarm)). query(now(quiet)). query(both).""",
    """:- use_module(library(cut)).
r(b, x).
r(a, y).
idx(I) :- cut(r(y), I).
query(idx(_)).""",
]

SCOPE = [
    """:- use_module(library(scope)).
0.3::s1:a.
s2:b.
s3:X :- s1:X.
c.
both :- s1:(a, c).
query(s3:a). query(both). query([s1, s2]:b). query(s2:c).""",
    """:- use_module(library(scope)).
0.5::s1:p. 0.4::s2:p.
either :- [s1, s2]:p.
query(either).""",
    """:- use_module(library(scope)).
0.5::g.
s:h :- g.
inner :- s:g.
query(inner). query(s:h).""",
    """:- use_module(library(scope)).
0.4::s:a. 0.5::s:b.
query(s:(a, b)).""",
    """:- use_module(library(scope)).
0.5::rain.
w:wet :- rain.
query(w:wet). query(w:rain). query([w]:wet).""",
    """:- use_module(library(scope)).
scope(1):a.
scope(2):b.
scope(3):X :- scope(1):X; scope(2):X.
c.
query(scope(3):_). query(scope(3):(a, b)). query([scope(1), scope(2)]:b). query(scope(1):c).""",
    """:- use_module(library(scope)).
0.3::k1:p(1). 0.6::k2:p(2).
any(X) :- [k1, k2]:p(X).
query(any(_)).""",
    """:- use_module(library(scope)).
0.5::base.
s:derived :- base.
t:top :- s:derived.
query(t:top). query(s:base).""",
    """:- use_module(library(scope)).
s1:a. s2:b. s3:c.
all3 :- [s1, s2, s3]:(a, b).
query(all3).""",
    """:- use_module(library(scope)).
s1:x(1). s1:x(2). s2:x(3).
xs(X) :- [s1, s2]:x(X).
query(xs(_)).""",
]

CALL_TIME_PROBABILITIES = [
    """PH::make_coin(C, PH).
coin(C) :- make_coin(C, 0.3).
two :- make_coin(c1, 0.3), make_coin(c2, 0.5).
same :- make_coin(c1, 0.3), make_coin(c1, 0.3).
query(coin(c1)). query(two). query(same).""",
    """P::a(X) :- between(1, 3, X), P is X / 4.
query(a(_)).""",
    """P::b(X, P) :- between(1, 2, X).
c(X) :- b(X, 0.2).
query(c(_)).""",
    """P::toss(C, P).
0.5::fair.
heads :- fair, toss(c, 0.5).
heads :- \\+ fair, toss(c, 0.9).
query(heads).""",
    """p(0.2). p(0.7).
P::q(P) :- p(P).
query(q(_)).""",
    """P::coin(C, P).
0.5::biased.
toss(heads) :- biased, coin(t1, 0.8).
toss(heads) :- \\+ biased, coin(t1, 0.5).
query(toss(heads)).""",
    """:- use_module(library(lists)).
P::a(X) :- member(X-P, [x-0.1, y-0.4]).
query(a(x)). query(a(y)).""",
    """:- use_module(library(lists)).
0.5::fine.
P::ok(N) :- between(1, 3, N), P is 1 / (N + 1).
all_ok :- ok(1), ok(2), ok(3).
query(all_ok). query(ok(_)).""",
    """P::b(X, P) :- between(1, 2, X).
0.5::c(X) :- b(X, 0.4).
query(c(1)).""",
    """P::r(X, Y) :- Y is X * 2, P is 1 / Y.
q :- r(1, 2), r(2, 4).
query(q).""",
]

ZERO_ANSWERS = [
    "t(X) :- fail.\nquery(t(_)).",
    "t(X) :- fail.\nquery(t(a)).\nquery(t(a)).",
    "0.0::p(1).\nquery(p(1)).",
    "0.3::p(1).\nq(X) :- p(X).\nquery(q(2)).\nquery(q(_)).",
    "a :- fail.\nquery(\\+ a).",
    "0.3::a.\nb :- a, \\+ a.\nquery(b).",
    "p(1). p(2).\nquery(p(X)).\nquery(p(3)).",
    "q(X, Y) :- fail.\nquery(q(1, Y)).\nquery(q(X, X)).",
    "q(X) :- X = f(Y), fail.\nquery(q(f(_))).",
    "s(X) :- between(1, 3, X), X > 5.\nquery(s(X)).\nquery(s(2)).",
    "t3(X, Y, Z) :- fail.\nquery(t3(A, g(B, C), D)).",
    ":- use_module(library(lists)).\nq(X) :- member(X, [a, b]), X = c.\nquery(q(_)).",
    "t(X) :- fail.\nquery(\\+ t(a)).\nquery(fail).\nquery(true).",
    "p(X) :- X = [A, B], fail.\nquery(p([_, _])).\nquery(p(f(A, A))).",
    "0.5::c.\np(X) :- c, X = 1.\np(X) :- \\+ c, X = 2.\nquery(p(3)).\nquery(p(_)).",
    ":- use_module(library(cut)).\nr(1, a) :- fail.\nq(X) :- cut(r(X)).\nquery(q(_)).",
    ":- use_module(library(aggregate)).\np(1) :- fail.\ns(sum<X>) :- p(X).\nquery(s(_)).",
]

AREAS = {
    "lists": LISTS,
    "apply": APPLY,
    "aggregate": AGGREGATE,
    "collect": COLLECT,
    "cut": CUT,
    "scope": SCOPE,
    "call_time": CALL_TIME_PROBABILITIES,
    "zero": ZERO_ANSWERS,
}
