% library(collect) of ProbLog 2.3 (Apache-2.0):  Body => Group/Collector  calls
% collect_<name>(Body, Group, Args...) for Collector = name(Args...); Body => Collector
% calls it with the group 'none'. collect_list/3,4 is predefined.

'$collect_group'(CodeBlock, AggVar, GroupBy, Values) :-
    all_or_none((GroupBy, AggVar), CodeBlock, List1),
    enum_groups(List1, GroupBy, Values).

'=>'(CodeBlock, GroupBy/Collector) :-
    Collector =.. [Predicate|Args],
    concat(['collect_', Predicate], NewPredicate),
    CollectorNew =.. [NewPredicate, CodeBlock, GroupBy|Args],
    call(CollectorNew).
'=>'(CodeBlock, Collector) :-
    Collector \= _/_,
    Collector =.. [Predicate|Args],
    concat(['collect_', Predicate], NewPredicate),
    CollectorNew =.. [NewPredicate, CodeBlock, none|Args],
    call(CollectorNew).

collect_list(CodeBlock, Y, Result) :- collect_list(CodeBlock, none, Y, Result).
collect_list(CodeBlock, GB, Y, Result) :- '$collect_group'(CodeBlock, Y, GB, Result).
