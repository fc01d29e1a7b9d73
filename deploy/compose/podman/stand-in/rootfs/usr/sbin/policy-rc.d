#!/bin/sh
# No service starts while packages are installed in an image build.
exit 101
