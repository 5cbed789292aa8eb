#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# Copyright (c) 2026 rosterd developers
#
# x12_check.pl FILE...: an independent structural check of X12 834 files.
#
# The file is walked with Debian's X12::Parser (libx12-parser-perl) and
# its bundled 834 loop configuration, which finds the separators from the
# ISA and splits the file into loops (2000 member, 2100A member name, ...).
# On top of that walk this script checks what a receiver checks first:
#
#   - ISA is 106 characters with its terminator and its 16 elements have
#     their fixed widths; the four separators are distinct punctuation;
#   - GS08 and ST03 name 005010X220A1, ST01 is 834, BGN follows ST;
#   - SE01 equals the real number of segments from ST to SE, SE02 = ST02;
#   - GE01 equals the number of ST, GE02 = GS06;
#   - IEA01 equals the number of GS, IEA02 = ISA13;
#   - every INS (loop 2000) has REF*0F and a 2100A loop with NM1*IL.
#
# Prints "x12_check: FILE: ok (...)" per good file; otherwise one line per
# problem on stderr and exit status 1. Status 2: cannot run at all.
use strict;
use warnings;

use File::Spec;
use X12::Parser;

my $VERSION_ID = '005010X220A1';

# The 834 loop map that ships with X12::Parser (written for 004010X095;
# the loops this check relies on - 2000, 2100A, 2300 - are the same in
# 005010X220A1).
sub find_cf {
	for my $dir (@INC) {
		next if ref $dir;
		my $cf = File::Spec->catfile($dir, 'X12', 'Parser', 'cf',
		                             '834_004010X095.cf');
		return $cf if -r $cf;
	}
	return undef;
}

# ISA element widths, ISA01..ISA16.
my @ISA_WIDTH = (2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1);

sub check_isa {
	my ($file, $err) = @_;
	my $isa;

	open(my $fh, '<:raw', $file) or do {
		push @$err, "cannot open: $!";
		return;
	};
	my $n = read($fh, $isa, 108);
	close($fh);
	if (!defined $n || $n < 106 || substr($isa, 0, 3) ne 'ISA') {
		push @$err, 'the file does not start with a 106-character ISA';
		return;
	}
	# ISA16 is the one character after the 16th element separator; the
	# segment terminator follows it.
	my $el  = substr($isa, 3, 1);
	my $pos = -1;
	for (1 .. 16) {
		$pos = index($isa, $el, $pos + 1);
		last if $pos < 0;
	}
	if ($pos < 0 || $pos + 3 != 106) {
		push @$err, sprintf('ISA is %s characters with its terminator, '
		                    . 'not 106', $pos < 0 ? 'more than 108'
		                    : $pos + 3);
		return;
	}
	my $term = substr($isa, 105, 1);
	my @f    = split(/\Q$el\E/, substr($isa, 0, 105), -1);
	for my $i (1 .. 16) {
		push @$err, sprintf('ISA%02d is %d characters, not %d', $i,
		                    length($f[$i]), $ISA_WIDTH[$i - 1])
		  if length($f[$i]) != $ISA_WIDTH[$i - 1];
	}
	my ($rep, $comp) = ($f[11], $f[16]);
	my %seen;
	for my $s ($el, $term, $rep, $comp) {
		push @$err, "separator '$s' is not punctuation"
		  if $s !~ /^[[:punct:]]$/;
		push @$err, "separator '$s' is used twice" if $seen{$s}++;
	}
	push @$err, "ISA09 '$f[9]' is not YYMMDD"   if $f[9] !~ /^\d{6}$/;
	push @$err, "ISA10 '$f[10]' is not HHMM"    if $f[10] !~ /^\d{4}$/;
	push @$err, "ISA12 '$f[12]' is not 00501"   if $f[12] ne '00501';
	push @$err, "ISA13 '$f[13]' is not 9 digits" if $f[13] !~ /^\d{9}$/;
	push @$err, "ISA15 '$f[15]' is not P or T"  if $f[15] !~ /^[PT]$/;
}

sub check_file {
	my ($file, $cf) = @_;
	my @err;

	check_isa($file, \@err);
	return @err if @err;

	my $p = X12::Parser->new;
	$p->parsefile(file => $file, conf => $cf);
	my $el = $p->get_element_separator;

	# Envelope state.
	my ($isa13, $gs06, $st02);
	my ($in_isa, $in_gs, $in_st) = (0, 0, 0);
	my ($n_gs, $n_st, $n_seg, $n_ins, $n_total) = (0, 0, 0, 0, 0);
	my ($last_id, $member) = ('', undef);
	my $where = '';

	my $fail = sub { push @err, "$where: $_[0]" };
	my $end_member = sub {
		return if !defined $member;
		$fail->("INS at segment $member->{at} has no REF*0F")
		  if !$member->{ref0f};
		$fail->("INS at segment $member->{at} has no loop 2100A NM1*IL")
		  if !$member->{nm1};
		$member = undef;
	};

	while (my $loop = $p->get_next_loop) {
		for my $seg ($p->get_loop_segments) {
			$seg =~ s/^[\r\n]+//;
			my @e  = split(/\Q$el\E/, $seg, -1);
			my $id = $e[0];
			$n_total++;
			$where = "segment $n_total ($id)";
			$n_seg++ if $in_st;

			if ($id eq 'ISA') {
				$fail->('ISA inside an interchange') if $in_isa;
				($in_isa, $isa13, $n_gs) = (1, $e[13], 0);
			} elsif ($id eq 'IEA') {
				$fail->('IEA without ISA') if !$in_isa;
				$fail->('IEA inside a group') if $in_gs;
				$fail->("IEA01 is $e[1], but the interchange has "
				        . "$n_gs GS") if ($e[1] // '') ne $n_gs;
				$fail->("IEA02 $e[2] is not ISA13 $isa13")
				  if ($e[2] // '') ne ($isa13 // '');
				$in_isa = 0;
			} elsif ($id eq 'GS') {
				$fail->('GS outside ISA') if !$in_isa;
				$fail->('GS inside a group') if $in_gs;
				$fail->("GS01 is not BE") if ($e[1] // '') ne 'BE';
				$fail->("GS08 is not $VERSION_ID")
				  if ($e[8] // '') ne $VERSION_ID;
				($in_gs, $gs06, $n_st) = (1, $e[6], 0);
				$n_gs++;
			} elsif ($id eq 'GE') {
				$fail->('GE without GS') if !$in_gs;
				$fail->('GE inside a transaction set') if $in_st;
				$fail->("GE01 is $e[1], but the group has $n_st ST")
				  if ($e[1] // '') ne $n_st;
				$fail->("GE02 $e[2] is not GS06 $gs06")
				  if ($e[2] // '') ne ($gs06 // '');
				$in_gs = 0;
			} elsif ($id eq 'ST') {
				$fail->('ST outside GS') if !$in_gs;
				$fail->('ST inside a transaction set') if $in_st;
				$fail->('ST01 is not 834') if ($e[1] // '') ne '834';
				$fail->("ST03 is not $VERSION_ID")
				  if ($e[3] // '') ne $VERSION_ID;
				($in_st, $st02, $n_seg) = (1, $e[2], 1);
				$n_st++;
			} elsif ($id eq 'SE') {
				$fail->('SE without ST') if !$in_st;
				$end_member->();
				$fail->("SE01 is $e[1], but the transaction set has "
				        . "$n_seg segments") if ($e[1] // '') ne $n_seg;
				$fail->("SE02 $e[2] is not ST02 $st02")
				  if ($e[2] // '') ne ($st02 // '');
				$in_st = 0;
			} elsif (!$in_st) {
				$fail->('segment outside a transaction set');
			} elsif ($id eq 'INS') {
				$fail->("INS starts loop $loop, not 2000")
				  if $loop ne '2000';
				$end_member->();
				$member = {at => $n_total, ref0f => 0, nm1 => 0};
				$n_ins++;
			} elsif ($id eq 'REF' && ($e[1] // '') eq '0F') {
				$member->{ref0f} = 1
				  if defined $member && $loop eq '2000';
			} elsif ($id eq 'NM1' && ($e[1] // '') eq 'IL') {
				$member->{nm1} = 1
				  if defined $member && $loop eq '2100A';
			}
			$fail->('BGN must follow ST')
			  if $last_id eq 'ST' && $id ne 'BGN';
			$last_id = $id;
		}
	}
	$where = 'end of file';
	$fail->('the interchange is not closed by IEA') if $in_isa;
	$fail->('no interchange') if $n_total == 0;
	return @err if @err;
	print "x12_check: $file: ok ($n_gs group(s), $n_st transaction "
	  . "set(s), $n_ins INS, $n_total segments)\n";
	return ();
}

if (!@ARGV) {
	print STDERR "usage: x12_check.pl FILE...\n";
	exit 2;
}
my $cf = find_cf();
if (!defined $cf) {
	print STDERR "x12_check: X12::Parser's 834 configuration "
	  . "(X12/Parser/cf/834_004010X095.cf) was not found\n";
	exit 2;
}
my $bad = 0;
for my $file (@ARGV) {
	my @err = check_file($file, $cf);
	next if !@err;
	$bad = 1;
	print STDERR "x12_check: $file: $_\n" for @err;
}
exit $bad;
