"""The talk's Watch loop without gRPC: OpenCV reads every frame of a file
and takes its bytes, as bench/talk/soccer_server.py does for each message.
What decoding costs the Python server, apart from its transport.

Usage: opencv_read.py FILE  (prints the frame count on stderr)
"""
import sys

import cv2

match = cv2.VideoCapture(sys.argv[1])
frames = 0
while match.isOpened():
    ok, frame = match.read()
    if not ok:
        break
    frame.tobytes()
    frames += 1
match.release()
print(frames, file=sys.stderr)
