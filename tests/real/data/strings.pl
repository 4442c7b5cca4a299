#!/usr/bin/perl
# Hash/regex/string heavy workload for the heapguard real-software tests.
use strict;
use warnings;
use Digest::MD5 qw(md5_hex);

my $seed = 42;
sub rnd { $seed = ($seed * 1103515245 + 12345) % 2147483648; return $seed >> 16; }
sub word { my $n = 3 + rnd() % 10; join '', map { chr(97 + rnd() % 26) } 1 .. $n }

# build a text corpus
my @words = map { word() } 1 .. 80000;
my $text = join ' ', map { $_ % 13 ? $words[$_] : uc($words[$_]) . "=$_" } 0 .. $#words;

# word frequencies, prefix index, hash of arrays / hashes
my (%freq, %prefix, %bylen);
$freq{$_}++ for @words;
push @{ $prefix{ substr($_, 0, 2) } }, $_ for @words;
$bylen{ length $_ }{$_} = 1 for @words;
my @top = (sort { $freq{$b} <=> $freq{$a} || $a cmp $b } keys %freq)[0 .. 4];
print "freq ", scalar(keys %freq), " @top\n";
print "prefix ", scalar(keys %prefix), " ", join(',', map { scalar @{ $prefix{$_} } } (sort keys %prefix)[0 .. 4]), "\n";
print "bylen ", join(',', map { "$_:" . scalar(keys %{ $bylen{$_} }) } sort { $a <=> $b } keys %bylen), "\n";

# regexes: captures, global matches, substitutions, tr, split/join
my %assign = $text =~ /\b([A-Z]+)=(\d+)\b/g;
my $count = () = $text =~ /\b[a-z]*(?:ab|cd|ef)[a-z]*\b/g;
(my $swapped = $text) =~ s/\b([a-z])([a-z]*)([a-z])\b/$3$2$1/g;
(my $rot = $text) =~ tr/a-z/n-za-m/;
my @fields = split /[\s=]+/, $swapped;
print "regex ", scalar(keys %assign), " $count ", scalar(@fields), " ", md5_hex($swapped), " ", md5_hex($rot), "\n";

# string building and churn
my %table;
for my $round (1 .. 6) {
    for my $i (0 .. 30000) {
        my $k = ($i * 7919 + $round) % 40000;
        $table{$k} = join '-', $k, ('x' x ($k % 17)), $round;
    }
    delete $table{$_} for grep { $_ % ($round + 1) == 0 } keys %table;
}
my $joined = join "\n", map { "$_=$table{$_}" } sort { $a <=> $b } keys %table;
my $s = '';
$s .= sprintf("%05d:%s;", $_, reverse $words[$_]) for 0 .. 20000;
my @parts = unpack '(A64)*', $s;
print "churn ", scalar(keys %table), " ", length($joined), " ", md5_hex($joined), " ", scalar(@parts), "\n";

# nested data structure and a recursive walk
my $tree = { map { ("k$_" => [ map { { id => $_, name => word(), tags => [ map { word() } 1 .. 3 ] } } 1 .. 20 ]) } 1 .. 200 };
sub walk {
    my $n = shift;
    return ref $n eq 'HASH'  ? (1 + eval { my $t = 0; $t += walk($n->{$_}) for sort keys %$n; $t })
         : ref $n eq 'ARRAY' ? (1 + eval { my $t = 0; $t += walk($_) for @$n; $t })
         : 1;
}
print "tree ", walk($tree), "\n";
