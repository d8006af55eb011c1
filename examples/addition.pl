% MNIST-style digit addition (DeepProbLog's classic): the network reads each
% image as a digit; only the sum is observed during training.
nn(digit_net, [X], Y, [0..9]) :: digit(X, Y).

addition(X, Y, Z) :- digit(X, N1), digit(Y, N2), Z is N1 + N2.
