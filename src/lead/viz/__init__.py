"""What people look at: overlay videos (scene, overlay, render, video), RViz markers (markers)."""
