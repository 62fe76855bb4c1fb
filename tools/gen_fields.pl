#!/usr/bin/perl
#----------------------------------------------------------------------
#
# gen_fields.pl
#	  Generate src/fields_gen.c (the CRD field tables, see src/fields.h)
#	  from the flattened schemas in data/*.tsv.
#
# Usage: perl tools/gen_fields.pl CLUSTER.tsv OBJECTSTORE.tsv > src/fields_gen.c
#
# Each TSV has '#' comment lines, a header line, then one row per field
# path: path, type, "required" or empty, constraints.  Constraints are
# " ; "-separated items: enum=a|b, minimum=N, maximum=N, minLength=N,
# maxLength=N, pattern=<python str repr>, format=<repr>, default=<python
# literal>, cel[<rule>]=><message>.  Python literals are decoded here so
# the C side gets plain regexes and JSON defaults.
#
# Only core perl: the build must not need CPAN.
#
#----------------------------------------------------------------------
use strict;
use warnings;

die "usage: $0 cluster-fields.tsv objectstore-fields.tsv\n" unless @ARGV == 2;

my %type_map = (
	'string'        => 'CB_FIELD_STRING',
	'integer'       => 'CB_FIELD_INTEGER',
	'boolean'       => 'CB_FIELD_BOOLEAN',
	'number'        => 'CB_FIELD_NUMBER',
	'object'        => 'CB_FIELD_OBJECT',
	'array'         => 'CB_FIELD_ARRAY',
	'int-or-string' => 'CB_FIELD_INT_OR_STRING',
	'any'           => 'CB_FIELD_ANY',);

# the constraint keys that may start an item (anything else is part of the
# previous item's text, e.g. a CEL message holding " ; ")
my $item_start = qr/(?:enum=|minimum=|maximum=|minLength=|maxLength=|pattern=|format=|default=|cel\[)/;

# ---------- python literal decoding ----------

# Decode a python string literal at the start of $$sref; returns the string
# and removes the literal from $$sref.
sub take_py_string
{
	my ($sref) = @_;
	$$sref =~ s/^(['"])// or die "not a python string: $$sref\n";
	my $q   = $1;
	my $out = '';
	while (1)
	{
		die "unterminated python string\n" if $$sref eq '';
		my $c = substr($$sref, 0, 1, '');
		last if $c eq $q;
		if ($c ne '\\')
		{
			$out .= $c;
			next;
		}
		my $e = substr($$sref, 0, 1, '');
		if    ($e eq 'n')  { $out .= "\n"; }
		elsif ($e eq 't')  { $out .= "\t"; }
		elsif ($e eq 'r')  { $out .= "\r"; }
		elsif ($e eq 'x')  { $out .= chr(hex(substr($$sref, 0, 2, ''))); }
		elsif ($e eq 'u')  { $out .= chr(hex(substr($$sref, 0, 4, ''))); }
		elsif ($e eq 'U')  { $out .= chr(hex(substr($$sref, 0, 8, ''))); }
		else               { $out .= $e; }    # \\ \' \"
	}
	return $out;
}

sub json_string
{
	my ($s) = @_;
	$s =~ s/(["\\])/\\$1/g;
	$s =~ s/\n/\\n/g;
	$s =~ s/\t/\\t/g;
	$s =~ s/([\x00-\x1f])/sprintf('\\u%04x', ord($1))/ge;
	return "\"$s\"";
}

# Decode one python literal (str, bool, None, number, dict, list) at the
# start of $$sref into JSON text.
sub take_py_literal
{
	my ($sref) = @_;
	$$sref =~ s/^\s+//;
	if ($$sref =~ /^['"]/)
	{
		return json_string(take_py_string($sref));
	}
	if ($$sref =~ s/^True//)  { return 'true'; }
	if ($$sref =~ s/^False//) { return 'false'; }
	if ($$sref =~ s/^None//)  { return 'null'; }
	if ($$sref =~ s/^(-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?)//)
	{
		return $1;
	}
	if ($$sref =~ s/^\{//)
	{
		my @parts;
		while (1)
		{
			$$sref =~ s/^\s+//;
			last if $$sref =~ s/^\}//;
			my $k = take_py_literal($sref);
			$$sref =~ s/^\s*:\s*// or die "bad python dict: $$sref\n";
			my $v = take_py_literal($sref);
			push @parts, "$k:$v";
			$$sref =~ s/^\s*,//;
		}
		return '{' . join(',', @parts) . '}';
	}
	if ($$sref =~ s/^\[//)
	{
		my @parts;
		while (1)
		{
			$$sref =~ s/^\s+//;
			last if $$sref =~ s/^\]//;
			push @parts, take_py_literal($sref);
			$$sref =~ s/^\s*,//;
		}
		return '[' . join(',', @parts) . ']';
	}
	die "unknown python literal: $$sref\n";
}

# ---------- TSV reading ----------

sub parse_constraints
{
	my ($text, $row) = @_;
	my @cel;

	while ($text ne '')
	{
		if ($text =~ s/^enum=([^ ]*)//)
		{
			$row->{enum} = $1;
		}
		elsif ($text =~ s/^(minimum|maximum|minLength|maxLength)=(-?[0-9]+)//)
		{
			$row->{$1} = $2;
		}
		elsif ($text =~ s/^pattern=//)
		{
			$row->{pattern} = take_py_string(\$text);
		}
		elsif ($text =~ s/^format=//)
		{
			$row->{format} = take_py_string(\$text);
		}
		elsif ($text =~ s/^default=//)
		{
			$row->{default} = take_py_literal(\$text);
		}
		elsif ($text =~ s/^cel\[(.*?)\]=>(.*?)(?=\s;\s$item_start|\s*$)//)
		{
			push @cel, "$1 => $2";
		}
		else
		{
			die "cannot parse constraint of $row->{path}: $text\n";
		}
		$text =~ s/^\s*;\s*// or $text =~ s/^\s+$//;
	}
	$row->{cel} = join("\n", @cel) if @cel;
}

sub read_tsv
{
	my ($file) = @_;
	my (@rows, $seen_header);

	open(my $fh, '<', $file) or die "$file: $!\n";
	while (my $line = <$fh>)
	{
		chomp $line;
		next if $line =~ /^#/ || $line eq '';
		my @col = split /\t/, $line, -1;
		if (!$seen_header)
		{
			$seen_header = 1;
			die "$file: unexpected header\n" unless $col[0] eq 'path';
			next;
		}
		die "$file:$.: expected 4 columns\n" unless @col == 4;
		my $row = { path => $col[0], required => $col[2] eq 'required' };
		$row->{type} = $type_map{ $col[1] }
		  or die "$file:$.: unknown type $col[1]\n";
		parse_constraints($col[3], $row);
		push @rows, $row;
	}
	close $fh;

	@rows = sort { $a->{path} cmp $b->{path} } @rows;

	# A required field is listed on its parent, which checks for it; an
	# object without any declared field accepts anything.
	my %by_path = map { $_->{path} => $_ } @rows;
	my %has_child;
	my @root_required;
	for my $row (@rows)
	{
		my $parent;
		if ($row->{path} =~ /^(.*)\[\]$/)
		{
			$parent = $1;
		}
		elsif ($row->{path} =~ /^(.*)\.([^.]+)$/)
		{
			$parent = $1;
		}
		$has_child{$parent} = 1 if defined $parent;
		next unless $row->{required};
		my ($name) = $row->{path} =~ /([^.]+)$/;
		if (!defined $parent)
		{
			push @root_required, $name;
			next;
		}
		die "$file: $row->{path}: required under a missing parent\n"
		  unless $by_path{$parent};
		push @{ $by_path{$parent}{required_children} }, $name;
	}
	for my $row (@rows)
	{
		$row->{preserve_unknown} = 1
		  if $row->{type} eq 'CB_FIELD_OBJECT' && !$has_child{ $row->{path} };
	}
	return (\@rows, join('|', @root_required));
}

# ---------- C output ----------

sub c_string
{
	my ($s) = @_;
	return 'NULL' unless defined $s;
	$s =~ s/(["\\])/\\$1/g;
	1 while $s =~ s/\?\?/?\\?/;    # no trigraphs
	$s =~ s/\n/\\n/g;
	$s =~ s/\t/\\t/g;
	$s =~ s/([\x00-\x1f\x7f])/sprintf('\\%03o', ord($1))/ge;
	return "\"$s\"";
}

sub emit_table
{
	my ($name, $rows) = @_;

	print "static const CbFieldDef ${name}[] = {\n";
	for my $r (@$rows)
	{
		my @f = (".path = " . c_string($r->{path}), ".type = $r->{type}");
		push @f, ".required = true"         if $r->{required};
		push @f, ".preserve_unknown = true" if $r->{preserve_unknown};
		push @f, ".required_children = " . c_string(join('|', @{ $r->{required_children} }))
		  if $r->{required_children};
		push @f, ".enum_values = " . c_string($r->{enum}) if defined $r->{enum};
		push @f, ".has_min = true", ".min = INT64CONST($r->{minimum})"
		  if defined $r->{minimum};
		push @f, ".has_max = true", ".max = INT64CONST($r->{maximum})"
		  if defined $r->{maximum};
		push @f, ".has_min_length = true", ".min_length = $r->{minLength}"
		  if defined $r->{minLength};
		push @f, ".has_max_length = true", ".max_length = $r->{maxLength}"
		  if defined $r->{maxLength};
		push @f, ".pattern = " . c_string($r->{pattern}) if defined $r->{pattern};
		push @f, ".format = " . c_string($r->{format})   if defined $r->{format};
		push @f, ".default_json = " . c_string($r->{default})
		  if defined $r->{default};
		push @f, ".cel = " . c_string($r->{cel}) if defined $r->{cel};
		print "\t{", join(', ', @f), "},\n";
	}
	print "};\n\n";
}

my ($cluster_rows, $cluster_required) = read_tsv($ARGV[0]);
my ($store_rows,   $store_required)   = read_tsv($ARGV[1]);

print <<"EOF";
/*-------------------------------------------------------------------------
 *
 * fields_gen.c
 *	  CRD field tables.  GENERATED by tools/gen_fields.pl from
 *	  $ARGV[0] and $ARGV[1]: do not edit.
 *
 * See src/fields.h for the row layout.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fields.h"

EOF

emit_table('cluster_fields',     $cluster_rows);
emit_table('objectstore_fields', $store_rows);

printf <<'EOF', c_string($cluster_required), c_string($store_required);
const CbSchema cb_cluster_schema = {
	"Cluster", "postgresql.cnpg.io/v1", "postgresql.cnpg.io", %s,
	cluster_fields, lengthof(cluster_fields)
};

const CbSchema cb_objectstore_schema = {
	"ObjectStore", "barmancloud.cnpg.io/v1", "barmancloud.cnpg.io", %s,
	objectstore_fields, lengthof(objectstore_fields)
};

/* the rows are in strcmp order (perl's default sort is bytewise) */
int
cb_field_lower_bound(const CbFieldDef *fields, int nfields, const char *path)
{
	int			lo = 0;
	int			hi = nfields;

	while (lo < hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (strcmp(fields[mid].path, path) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const CbFieldDef *
cb_field_lookup(const CbFieldDef *fields, int nfields, const char *path)
{
	int			i = cb_field_lower_bound(fields, nfields, path);

	if (i < nfields && strcmp(fields[i].path, path) == 0)
		return &fields[i];
	return NULL;
}
EOF
